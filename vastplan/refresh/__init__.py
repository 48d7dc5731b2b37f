"""Reading the live account: one list request per kind (``live``), settling the journal, finding orphans."""
