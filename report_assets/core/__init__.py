"""What every layer shares and no layer owns: the banks' calendars and account numbers. Depends on nothing in the
project, so the books, the simulator's bank and the checks all count bank days and compare accounts one way."""
