kubectl get pods -l app=hello | grep -q Running
