"""The project's tests; shared helpers such as tests.brokerkit live beside the suites."""
