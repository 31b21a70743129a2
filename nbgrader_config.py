"""nbgrader settings for this course. The repository root is the course root:
assignments are authored in source/<assignment>/, released to release/<assignment>/,
and graded from submitted/<student>/<assignment>/."""

import os

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "gradient-descent"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.release_directory = "release"
# Any database URL nbgrader accepts; tests point it at a temporary file.
c.CourseDirectory.db_url = os.environ.get(
    "COURSE_GRADEBOOK_URL", "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")
)

# What a released answer cell holds in place of the solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading kernels: one thread each, so parallel kernels do not fight over cores.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
