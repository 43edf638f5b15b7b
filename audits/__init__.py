"""Shipped audit templates (templates/) and checklist instruments (instruments/), installed as auditkit._audits."""
