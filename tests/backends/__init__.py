"""Each upstream: the relay, Tencent Cloud direct, and how their answers are read."""
