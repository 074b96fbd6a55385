"""What an entity owes besides a settlement run: wages paid against what work made due (R1.3), revolving
fund-support repayments against their schedule (R1.1)."""
