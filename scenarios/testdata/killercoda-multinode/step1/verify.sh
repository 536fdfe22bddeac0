kubectl get nodes node01 -o jsonpath='{.spec.unschedulable}' | grep -q true
