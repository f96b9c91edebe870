"""`python -m matting_cli ...` (what torchrun launches) is the same as the `ppid` command."""

from matting_cli.cli import main

if __name__ == "__main__":
    main()
