kubectl delete pod web --ignore-not-found
