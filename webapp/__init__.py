"""`vocals2song serve`: a web page to record or upload a vocal and hear the generated song."""
