"""吹哨报到: a community (subdistrict, district) blows a whistle; the summoned departments of the tier above
sign for it, make contact, act and report handling, on deadlines counted in working time; the blower rates
each department, closes or reopens; unsolved or overdue whistles escalate one tier up."""
