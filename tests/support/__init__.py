"""Support code of the tests (servers, settings, URLconfs, helpers); no tests are collected here."""
