"""Inbound protocols other than chat completions, translated to and from the core's
chat types: Anthropic Messages (`anthropic_messages`, `anthropic_events`) and OpenAI
Responses (`responses`, `responses_events`). Sans-I/O: dicts and bytes in, dicts and
bytes out; nothing here opens a socket or reads the environment.
"""
