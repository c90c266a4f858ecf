"""The task history on both stores."""
