"""Real-time chat (seed example 2): conversations, messages, presence, delivery."""
