"""Speed rewrites of textbook forms, each tested equal to the form it rewrites:

    optim.py   FastAdam       optim.Adam with the bias corrections folded into two scalars
    conv.py    GatherConv2D   conv.Conv2D computed in the cheaper order for few input channels

The math a student reads is one folder up; nothing there that a notebook opens imports these
(training and the decoder's convolutions use them).
"""
