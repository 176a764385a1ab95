"""积分与星级: points and stars, a pure function of the tallies' kept facts and the year's scheme."""
