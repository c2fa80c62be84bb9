"""Stage 6, reports: the leaderboard, the JSON run report and the HTML report."""
