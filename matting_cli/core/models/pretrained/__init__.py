"""ImageNet backbone weights: conversion from their published formats, storage in `weights/`, and
initialisation of the matting networks from them."""
