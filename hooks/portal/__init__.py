"""The portal: a REST facade over every served kind and a job history that outlives the cluster.

A separate process (`kubehooks portal`) with its own optional dependencies (`kubehooks[portal]`);
it never imports the hook server, and the hook server never imports it.
"""
