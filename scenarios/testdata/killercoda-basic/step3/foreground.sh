clear
kubectl get all
