"""Local stand-ins of the AWS endpoints the handler talks to, served over real sockets on 127.0.0.1."""
