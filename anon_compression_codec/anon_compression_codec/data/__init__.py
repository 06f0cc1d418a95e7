"""Datasets: box files (CrowdHuman .odgt, our JSON), the offline image set and the photo pool.
Read by training and evaluation alike; imports nothing but the runtime's errors and resources."""
