kubectl scale deployment hello --replicas=1
