#!/bin/bash
test "$(kubectl get deployment web -o jsonpath='{.status.readyReplicas}')" = 2
