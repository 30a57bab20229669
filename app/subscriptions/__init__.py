"""The subscription lifecycle: states, transitions, plan changes and what charge outcomes mean for it."""
