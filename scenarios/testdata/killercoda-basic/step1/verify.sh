#!/bin/bash
kubectl get pod web -o jsonpath='{.status.phase}' | grep -q Running || { echo "FAIL: pod web is not Running yet"; exit 1; }
