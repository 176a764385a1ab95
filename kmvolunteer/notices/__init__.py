"""我的提醒: in-app notices of whistle events, following the whistles' events the way the tallies follow
the features' (whistles never import this package), and the reminders an hour before each deadline."""
