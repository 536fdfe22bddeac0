kubectl apply -f ~/app.yaml
echo done > /tmp/env-ready
