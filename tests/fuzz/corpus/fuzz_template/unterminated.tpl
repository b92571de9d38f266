
body {{repo