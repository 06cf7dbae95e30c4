"""The bot side of `exsim run-bot` (docs/run-bot.md): `sitecustomize.py`, found through the
PYTHONPATH run-bot sets, loads `shim.py`, which puts the bot's interpreter on the replay clock."""
