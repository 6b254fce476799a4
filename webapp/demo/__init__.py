"""The demo data set: Dutch leads, campaigns in every state and a believable past."""
