"""The model file: a fitted AutoML as one zip of JSON, skops and native model files.

``archive`` (the zip, its manifest and checksums), ``trust`` (the types that may be
rebuilt), ``codec`` (fitted objects to files and back), ``frames`` (tables as JSON) and
``state`` (what of a fitted AutoML goes where). Nothing is ever unpickled.
"""
