"""The ``ertplan`` command: parse what people type, call the core, render a worksheet or JSON."""
