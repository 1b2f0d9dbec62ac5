"""The GLM Coding Plan platform as glmtray sees it: regions and links, business codes,
the read-only HTTP client, the tolerant response parser and the models it produces."""
