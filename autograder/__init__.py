"""The course's grading tool: release generation and verification now;
sandboxed batch grading builds on the same pieces."""
