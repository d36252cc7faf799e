"""What every layer shares and no layer owns: money in minor and major units, the banks' calendars and account
numbers, a ledger-day's key, and how SQL files are read. Imports nothing else of the project, so the books, the
simulator's bank and the checks all count bank days, compare accounts and show money one way."""
