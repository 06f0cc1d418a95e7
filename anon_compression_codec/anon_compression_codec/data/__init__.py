"""Datasets: box readers (CrowdHuman .odgt, our JSON), the offline image set, training samples."""
