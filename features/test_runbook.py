"""Every scenario of every .feature file in this folder."""
from pytest_bdd import scenarios

scenarios(".")
