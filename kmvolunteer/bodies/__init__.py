"""社区大党委 and 街道党建联盟: the joint bodies of a community's or subdistrict's partners."""
