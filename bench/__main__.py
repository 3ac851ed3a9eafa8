"""`python -m bench`: run the whole suite, print the table, write the JSON."""

from bench.suite import main

if __name__ == "__main__":
    main()
