"""Reports: views of the timeline (JUnit XML, the Chaos Toolkit journal,
the HTML report)."""
