"""What happens to a paid task: submit once, wait, deliver, count against quotas."""
