"""The social feed (seed example 3): posts, follows, likes, comments, shares, and the
hybrid push/pull timeline that reads them back."""
