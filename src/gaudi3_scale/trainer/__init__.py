"""The trainer: takes queued jobs from the database and trains them."""
