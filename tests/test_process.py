"""A script's exit without Python's teardown loses no log line or printed text and keeps its exit code."""

import subprocess
import sys

CODE = """
import logging, sys
from ctnet.process import exit_without_teardown
logging.basicConfig(filename=sys.argv[1], level=logging.INFO)
logging.getLogger("job").info("written before exit")
print("no newline at the end", end="")
print("to stderr", end="", file=sys.stderr)
exit_without_teardown(int(sys.argv[2]) if sys.argv[2] != "None" else None)
print("never printed")
"""


def test_exit_flushes_logs_and_streams_and_keeps_the_code(tmp_path):
    for code, expected in (("3", 3), ("None", 0)):
        log = tmp_path / f"{code}.log"
        done = subprocess.run([sys.executable, "-c", CODE, str(log), code], capture_output=True, text=True)
        assert done.returncode == expected
        assert done.stdout == "no newline at the end" and done.stderr == "to stderr"
        assert log.read_text() == "INFO:job:written before exit\n"
