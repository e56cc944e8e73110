"""nbgrader's configuration for the minivae course (copy it into the course folder).

The stubs are those of tools/course.py, so `nbgrader generate_assignment` releases exactly
the student notebooks of notebooks/exercises/ (tests/test_nbgrader.py checks it, cell by
cell). Cells run up to 5 minutes each (a training cell takes seconds on a laptop; the
default 30 s is too tight for a busy grading machine). docs/course.md gives the commands.
"""
c = get_config()  # noqa: F821  (nbgrader's config loader defines it)

c.ClearSolutions.code_stub = {"python": "raise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.Execute.timeout = 300
