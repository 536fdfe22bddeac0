if ssh node01 'kubelet --version' | grep -q v1.33; then exit 0; fi
echo "FAIL: the kubelet on node01 is not v1.33"; exit 1
