"""现场签到: on-site QR sign-in and sign-out for an activity, its live sheet, and the A4 posters."""
