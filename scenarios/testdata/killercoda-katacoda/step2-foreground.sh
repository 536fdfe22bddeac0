echo "Logs follow."
