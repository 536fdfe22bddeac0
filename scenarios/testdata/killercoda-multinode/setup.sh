#!/bin/bash
# Install tools on both nodes.
apt-get update && apt-get install -y jq
ssh node01 'systemctl restart kubelet'
kubectl -n kube-system get pods
