#!/bin/bash
while [ ! -f /tmp/background-finished ]; do sleep 1; done
echo "Ready."
